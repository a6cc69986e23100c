"""Plans and issues shown where reviews happen: a plan computed for a command
(:mod:`~qrun.reporting.planned`), a plan as a Markdown comment for a pull request
(:mod:`~qrun.reporting.markdown`), and issues as GitHub annotations
(:mod:`~qrun.reporting.annotations`)."""
