"""What a working group gives us: the instance files (a CSV folder or an XLSX workbook), their
tables and columns (`tables`), their reading (`loading`) and validation into a typed
`models.domain.Instance` with every problem named in Russian (`validation`), the workbook
template, the what-if scenario files and the instance summary. May import `models` only.
"""
