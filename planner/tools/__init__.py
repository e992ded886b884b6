"""Developers' scripts, not for the working group: the benchmark
(`python -m planner.tools.benchmark`) and the synthetic-instance generator
(`python -m planner.tools.synthetic`). A front door like `cli`: may import the workflows
and everything below them; never another front door.
"""
