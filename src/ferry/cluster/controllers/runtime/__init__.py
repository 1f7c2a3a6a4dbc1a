"""Controller runtime: informers, work queues, expectations, the API client, and the seams."""
