"""salesenv's Hydra config groups (`salesenv.conf` once installed; read by `salesenv eval`)."""
