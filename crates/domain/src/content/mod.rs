//! Content production: see DESIGN §3 "Content".
