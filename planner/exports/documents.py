"""Documents of a plan, built in memory: the Word appendix, the Excel workbook, the HTML report.

One module per format (`documents_docx`, `documents_xlsx`, `report_html`), each a pure function
of (instance, plan). `document_files` is what `planner solve` puts beside plan.json; the
`planner export docx|xlsx` and `planner report` commands live in `planner.cli.documents`.
"""

from __future__ import annotations

from models.domain import Instance, Plan

APPENDIX_FILE = "appendix.docx"
WORKBOOK_FILE = "plan.xlsx"
REPORT_FILE = "report.html"


DOCUMENTS = (APPENDIX_FILE, WORKBOOK_FILE, REPORT_FILE)


def build_document(name: str, instance: Instance, plan: Plan) -> bytes:
    """One document of a plan, in memory (its builder imported here: the Word, Excel and
    plotly libraries load only where a document is built)."""
    if name == APPENDIX_FILE:
        from planner.exports.documents_docx import appendix_docx

        return appendix_docx(instance, plan)
    if name == WORKBOOK_FILE:
        from planner.exports.documents_xlsx import plan_xlsx

        return plan_xlsx(instance, plan)
    if name == REPORT_FILE:
        from planner.exports.report_html import report_html

        return report_html(instance, plan)
    raise ValueError(f"unknown document {name!r}")


def document_files(instance: Instance, plan: Plan) -> dict[str, bytes]:
    """The three documents of a plan, in memory: {"appendix.docx", "plan.xlsx", "report.html"}."""
    return {name: build_document(name, instance, plan) for name in DOCUMENTS}
