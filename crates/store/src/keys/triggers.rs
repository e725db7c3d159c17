//! Keys of the triggers area (see the table in the parent module).
