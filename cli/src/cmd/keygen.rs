//! `ispeed keygen --out FILE`: a measurement server's Ed25519 signing key.
//!
//! Writes the private key to `FILE` (mode 0600, never over an existing file) and its
//! public line (`ispeed-ed25519 KEY_ID PUBLIC_KEY`) to `FILE.pub`: the server runs
//! with `ispeed serve --signing-key FILE`, the collector's operator adds `FILE.pub`'s
//! line to its `--trusted-keys` file (docs/trust.md).

use std::path::PathBuf;

use ispeed_server::collector_keys::ServerSigner;

/// Arguments of `ispeed keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key; the public key goes to FILE.pub.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Generates and writes the key pair, printing the public line.
pub fn run(args: KeygenArgs) -> Result<(), String> {
    let signer = ServerSigner::generate();
    let public = signer.write(&args.out).map_err(|e| e.to_string())?;
    eprintln!(
        "private key {} (keep it on the server only), public key {}",
        args.out.display(),
        public.display()
    );
    println!("{}", signer.public_line());
    Ok(())
}
