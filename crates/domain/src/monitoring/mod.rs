//! Monitoring, thresholds and trigger dispatch: see DESIGN §3.
