"""Training-data synthesis, apart from the runtime path: the procedural action library
(``procedural``) and synthetic (speech, co-speech motion) pairs plus the BEAT2 reader (``cospeech``).

Nothing on the path from a portrait and speech to a video imports this package; the dataset
builder, the trainers, the benchmarks, the motion page's action list and the prompt vocabulary of
``pipeline/text/understand.py`` import it on use.
"""
