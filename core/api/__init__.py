"""Request and job: settings, HTTP sessions and their retry policies, the API's answers and
errors, the client that submits, and the handle that waits for, fetches or cancels a request."""
