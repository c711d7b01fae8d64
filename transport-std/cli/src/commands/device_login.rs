//! `lwa device-login`: code-based linking. Shows the URL, the code and (on a terminal) a QR
//! code, counts down, polls at the server's interval, gets a new code when this one expires,
//! retries failed requests while a shown code can still be entered, and saves the tokens.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lwa_std::core::session::{Config, Linking};
use lwa_std::driver::{DriverError, Next, Restore};
use zeroize::Zeroizing;

use crate::context::{Ctx, Fresh, open, print_fresh};
use crate::fail::{Doing, Fail, failure};
use crate::output::{approve_command, escaped};
use crate::signals;

/// Whether the countdown line is on the terminal without its line end.
static COUNTDOWN_OPEN: AtomicBool = AtomicBool::new(false);

/// Signs in and saves the tokens; the screen (stderr) shows the code and the wait.
pub(crate) fn linked(
    ctx: &Ctx,
    product_id: &str,
    serial: &str,
    retry_for: Duration,
    progress_every: Duration,
) -> Result<Fresh, Fail> {
    let client_id = match &ctx.client_id {
        Some(id) => id.clone(),
        None => ctx.client_id(ctx.store.load()?.as_ref())?,
    };
    let config = Config {
        linking: Some(Linking {
            product_id,
            device_serial_number: serial,
        }),
        ..ctx.config(&client_id)
    };
    let mut driver = open(ctx, config, Restore::Nothing, false)?.give_up_after(retry_for);
    let interactive = std::io::stderr().is_terminal();
    if interactive {
        // Ctrl-C ends the countdown line, so that the shell's prompt starts on a line of its
        // own. Held until the process ends: no countdown is written after the line end.
        signals::on_termination(|| {
            let mut err = std::io::stderr().lock();
            if COUNTDOWN_OPEN.swap(false, Ordering::SeqCst) {
                let _ = std::io::Write::write_all(&mut err, b"\n");
            }
            std::mem::forget(err);
        });
    }
    let mut code_deadline: Option<Instant> = None;
    let mut last_progress = Instant::now();
    let mut last_failure: Option<String> = None;
    let result = loop {
        let until = match driver.drive() {
            Err(e) => break Err(e),
            Ok(Next::Ready(token)) => break Ok(Zeroizing::new(token.expose().to_owned())),
            Ok(Next::SignIn) => break Err(DriverError::SignInRequired),
            Ok(Next::Stopped(reason)) => break Err(DriverError::Stopped(reason)),
            Ok(Next::ShowCode {
                user_code,
                verification_uri,
                expires_at,
            }) => {
                let (user_code, verification_uri) =
                    (user_code.to_owned(), verification_uri.to_owned());
                code_deadline = Some(Instant::now() + expires_at.since(driver.now()));
                COUNTDOWN_OPEN.store(false, Ordering::SeqCst);
                errln!();
                errln!("  To sign in, open {}", escaped(&verification_uri));
                errln!("  and enter the code:  {}", escaped(&user_code));
                // The look-alike's page is on this host: say how to approve from here too.
                if let Some(origin) = look_alike_origin(&verification_uri) {
                    errln!(
                        "  (the local look-alike: or approve with {})",
                        escaped(&approve_command(origin, ctx.ca_file.as_deref(), &user_code))
                    );
                }
                // A QR code is for a screen; in a log it is noise.
                if interactive && let Some(qr) = qr_code(&verification_uri) {
                    errln!("{qr}");
                }
                last_progress = Instant::now();
                continue;
            }
            Ok(Next::Wait(until)) => until,
        };
        if let Some(e) = driver.last_failure() {
            let text = e.to_string();
            if last_failure.as_deref() != Some(&text) {
                COUNTDOWN_OPEN.store(false, Ordering::SeqCst);
                errln!("\n  request failed, retrying: {}", escaped(&text));
                last_failure = Some(text);
            }
        }
        // The wait, a second at a time, with the code's countdown.
        loop {
            let wait = until.since(driver.now());
            if wait.is_zero() {
                break;
            }
            if let Some(deadline) = code_deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                let (min, sec) = (left.as_secs() / 60, left.as_secs() % 60);
                if interactive {
                    COUNTDOWN_OPEN.store(true, Ordering::SeqCst);
                    errp!("\r  waiting for you to enter the code ({min}:{sec:02} left)  ");
                } else if last_progress.elapsed() >= progress_every {
                    // Without a terminal a line cannot be rewritten: one now and then.
                    errln!("  waiting for you to enter the code ({min}:{sec:02} left)");
                    last_progress = Instant::now();
                }
            }
            std::thread::sleep(wait.min(Duration::from_secs(1)));
        }
    };
    if interactive && code_deadline.is_some() {
        COUNTDOWN_OPEN.store(false, Ordering::SeqCst);
        errln!();
    }
    let access = result.map_err(|e| failure(ctx, e, Doing::Linking))?;
    Ok(Fresh::of(&driver, access))
}

pub(crate) fn run(
    ctx: &Ctx,
    product_id: &str,
    serial: &str,
    retry_for: Duration,
    progress_every: Duration,
) -> Result<(), Fail> {
    let fresh = linked(ctx, product_id, serial, retry_for, progress_every)?;
    print_fresh(ctx, &fresh, "signed in")
}

/// The origin of a verification URI that is the local look-alike's approve page
/// (`http(s)://LOOPBACK:PORT/mock/approve`).
fn look_alike_origin(uri: &str) -> Option<&str> {
    let origin = uri.strip_suffix("/mock/approve")?;
    lwa_std::core::endpoint::Endpoint::parse_origin(origin)
        .ok()
        .filter(lwa_std::core::endpoint::Endpoint::is_loopback)
        .map(|_| origin)
}

/// `text` (the verification URL) as a QR code for a terminal.
fn qr_code(text: &str) -> Option<String> {
    use qrcode::render::unicode;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}
