"""Computing dask-backed results in tests, on a given client or the local scheduler."""


def computed(lazy, client):
    """`lazy` computed on `client` (a ``dask.distributed`` client), or with dask's default
    scheduler when `client` is None."""
    if client is None:
        return lazy.compute()
    with client.as_current():
        return lazy.compute()
