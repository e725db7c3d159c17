//! Keys of the monitoring area (see the table in the parent module).
