//! Ctrl-C and SIGTERM for commands that run outside an async runtime.

/// Calls `f` once when the process gets SIGINT or SIGTERM (watched on a small helper thread).
pub fn on_interrupt(f: impl FnOnce() + Send + 'static) {
    let _ = std::thread::Builder::new().name("meshperf-signals".into()).spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_io().build() else { return };
        rt.block_on(crate::serve::shutdown_signal());
        f();
    });
}
