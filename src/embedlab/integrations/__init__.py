"""embedlab inside other frameworks: LangChain and LlamaIndex.

``embedlab.integrations.langchain`` and ``embedlab.integrations.llamaindex`` each import their framework at the
top, so import the one you use; this package itself imports nothing. Both put a ``Collection`` (local or
PostgreSQL backend) behind the framework's vector-store interface and an embedlab encoder behind its embeddings
interface, and map the framework's metadata filters to embedlab's filter language (``store/filters.py``); a
filter operator embedlab cannot honour exactly is an ``InputError`` naming it, never ignored. Install them with
``pip install 'embedlab[integrations]'``.
"""
