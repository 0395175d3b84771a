"""The director's project without the UI: the document, its zip, the timeline and the edits.

One job per module: timeline.py (segments, undo history), document.py (Project, Take, Snapshot),
archive.py (the project .zip), repair.py (bad saved values reset on opening), motion_file.py (the
motion .npz), edits.py (free masks, locks, per-segment seeds, span resampling, takes). The studio
(studio/) and the CLI (pipeline/__main__.py) both call these.
"""
