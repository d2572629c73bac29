"""Scale-out on Dask distributed: `detector score --scheduler ADDRESS | --local-workers N`.

`partitions` plans id ranges of unscored messages (pure plan, one query), `worker` is what runs
on each Dask worker (the model loaded once per process, the single-process scorer on one range),
`cluster` connects to a scheduler or starts a LocalCluster and runs the plan. Needs the `scale`
extra (`dask[distributed]`); nothing here is imported unless a cluster is asked for.
"""
