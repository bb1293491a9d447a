"""What people type, understood: plain answers, questions about therapy, routes to therapy where they live.

Pure data and functions over files in `messages/` (no I/O after loading, no platform, no store):
- `answers`: natural replies mapped to the offered choices; reasons and endings named in a short story.
- `kb`: a small, sourced knowledge base per locale, searched with BM25.
- `routes`: verified ways to find and afford therapy per country.
"""
