"""The index in PostgreSQL + pgvector, for deployments that outgrow one machine's folder index.

`QA_DATABASE_URL` selects it. `writer.build_database` is `qa index` into the database (one
transaction per build, incremental by content); `index.PgIndex` answers through the retrieval seam
(`view.PgView`), reading from `QA_READ_URLS` (replicas) when given. Ranking and answering are the
same code as for the folder index. Needs the `postgres` extra (psycopg, pgvector).
"""
