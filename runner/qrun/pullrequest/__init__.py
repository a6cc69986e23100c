"""Plans and issues shown where reviews happen: a plan computed for a command
(:mod:`~qrun.pullrequest.planned`), a plan as a Markdown comment for a pull request
(:mod:`~qrun.pullrequest.markdown`), and issues as GitHub annotations
(:mod:`~qrun.pullrequest.annotations`)."""
