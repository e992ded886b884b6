"""The application around the models: loading, pipeline, replanning, exports, CLI."""
