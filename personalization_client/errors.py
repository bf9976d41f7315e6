"""The small exception tree transports raise. The client turns every one of
them into a `Fetch` with an error; the resolver never sees an exception."""


class RecommenderError(Exception):
    """The recommender could not answer usefully. Retryable unless said otherwise."""

    is_retryable = True


class RecommenderTimeout(RecommenderError):
    """No answer within the call's timeout. Not retried: the deadline is spent."""

    is_retryable = False


class RecommenderUnavailable(RecommenderError):
    """Connection refused or reset: nothing is listening, or it went away."""


class RecommenderRejected(RecommenderError):
    """A 4xx answer: our request was wrong, so asking again cannot help."""

    is_retryable = False


class CircuitOpen(RecommenderError):
    """The breaker for this endpoint is open; the call was not made."""

    is_retryable = False


class BatchUnsupported(RecommenderRejected):
    """The recommender has no batch endpoint; callers fall back to one call per query."""
