from divert.exceptions import DivertError


class StreamError(DivertError):
    """A topic or agent is misconfigured, or the broker refused a topic."""
