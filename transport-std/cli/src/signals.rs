//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: a command that must tidy up (end device-login's
//! countdown line, delete the look-alike's CA file) does so, then `lwa` dies of the signal
//! as if it were not handled (exit status 128 + the signal). One handler serves them all.

/// Runs `tidy` when a terminating signal arrives, then dies of it. Returns whether the
/// handler is in place (without it the signal still ends `lwa`, untidily).
pub(crate) fn on_termination(tidy: impl FnOnce() + Send + 'static) -> bool {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return false;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                tidy();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
        true
    }
    #[cfg(not(unix))]
    {
        let _ = tidy;
        false
    }
}

/// Ends `lwa` as a closed pipe ends a program that does not handle it: by SIGPIPE, with
/// nothing printed (Rust ignores SIGPIPE, so a write to a closed pipe is an error instead:
/// this restores the default and raises it). Where there is no SIGPIPE, exit 3 quietly.
pub(crate) fn die_of_sigpipe() -> ! {
    #[cfg(unix)]
    {
        let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGPIPE);
    }
    std::process::exit(3)
}
