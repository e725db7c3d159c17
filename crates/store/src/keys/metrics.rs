//! Keys of the metrics area (see the table in the parent module).
