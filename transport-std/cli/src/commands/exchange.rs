//! `lwa exchange`: trade an authorization code (with a client secret, or a PKCE verifier)
//! for tokens and save them.

use lwa_std::core::error::PkceError;
use lwa_std::core::pkce::CodeVerifier;
use lwa_std::core::secret::Secret;
use lwa_std::core::session::AuthorizationCode;
use lwa_std::driver::Restore;

use crate::context::{Ctx, Fresh, open, print_fresh};
use crate::fail::{Doing, Fail, failure};

/// Trades the code and saves the tokens. Checks that cost no request come first: a verifier
/// LWA must refuse is refused here, before the code is spent on it.
pub(crate) fn sign_in(
    ctx: &Ctx,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<Fresh, Fail> {
    let client_id = ctx.client_id(ctx.store.load()?.as_ref())?;
    if let Some(v) = verifier {
        CodeVerifier::new(v).map_err(|e| match e {
            PkceError::InvalidLength { len } => Fail::Config(format!(
                "--code-verifier: {len} characters; a PKCE code verifier has 43 to 128 \
                 (make one with `lwa pkce`)"
            )),
            e => Fail::Config(format!("--code-verifier: {e} (make one with `lwa pkce`)")),
        })?;
    }
    if verifier.is_none() && ctx.client_secret.is_none() {
        return Err(Fail::Config(
            "no client secret and no --code-verifier: pass one of them".into(),
        ));
    }
    let mut driver = open(ctx, ctx.config(&client_id), Restore::Nothing, true)?;
    driver.session_mut().authorization_code(AuthorizationCode {
        code: Secret::new(code),
        redirect_uri,
        code_verifier: verifier.map(Secret::new),
    });
    let access = driver
        .token_once(&mut |_| {})
        .map_err(|e| failure(ctx, e, Doing::Exchange))?;
    if driver.session().refresh_token().is_none() {
        return Err(Fail::Network(
            "the answer has no refresh token: nothing saved".into(),
        ));
    }
    Ok(Fresh::of(&driver, access))
}

pub(crate) fn run(
    ctx: &Ctx,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), Fail> {
    let fresh = sign_in(ctx, code, redirect_uri, verifier)?;
    print_fresh(ctx, &fresh, "signed in")
}
