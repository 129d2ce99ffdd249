"""HTTP read API and browsing pages over the stories database (FastAPI; no Scrapy).

    from storage.web.app import create_app
    app = create_app("sqlite:///data/newsagg.db")   # serve with uvicorn; `scrapy serve` does
"""
