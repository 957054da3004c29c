"""The error hierarchy. The CLI turns any FactoryError into one red line and exit code 1."""


class FactoryError(Exception):
    """Something the user can fix; the message says what and how."""


class WorkspaceNotFound(FactoryError):
    pass


class StoreError(FactoryError):
    pass


class RevisionConflict(StoreError):
    """A sample changed since the caller read it; nothing was written."""

    def __init__(self, sample_id: str, expected: int, actual: int):
        self.sample_id, self.expected, self.actual = sample_id, expected, actual
        super().__init__(
            f"sample {sample_id} changed since you read it (revision {expected}, now {actual}); "
            "reload it and apply your change again"
        )


class JobLocked(FactoryError):
    pass


class VersionError(FactoryError):
    pass


class BadInput(FactoryError):
    """A file, row or field that cannot be read; the message names it."""
