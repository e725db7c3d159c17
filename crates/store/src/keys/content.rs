//! Keys of the content area (see the table in the parent module).
