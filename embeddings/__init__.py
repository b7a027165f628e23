"""The readout engine. Data flows one way, and the folders follow it:

    readouts/  corpus files -> parsed readouts and their numbered points (corpus, parse, dates,
               aliases: the built-in table of names a question or readout may use), and what the
               index records of each at build time (facts: people, places, answer kinds; naming:
               the name people say; shown: that name beside its date in an answer)
    model/     the sentence-transformers model: points encoded at build time (encoder), questions
               without torch (question_encoder: the same layers run by onnxruntime)
    index/     each point's units (units), its BM25 text (lexical), the FAISS vectors (vectors),
               the stored table and files (store), and the build that ties them (build)
    search/    a question read into what it selects (query), points ranked and the found decision
               (searcher), and what is built on the ranking: excerpts, timelines, followed topics
    grow/      new readouts: fetching pages, extracting readouts from them, adding them to a corpus
               (library), following feeds

and at the top: `engine` (the one entry the front ends use: load or build, ask, timeline),
`records` (the named records that cross modules), `errors` (what went wrong, and what kind of fix
it needs; the front ends in bot/ word the advice), `env` (every setting read from the environment),
`evaluation` (a questions file scored against the corpus).

Kept free of heavy imports: torch and sentence-transformers load only when a model is needed.
"""
