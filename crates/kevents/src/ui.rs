//! `kevents serve --ui`: the web UI at `/ui/` on the API's listener (see `kevents-ui`).

use axum::Router;
use clap::Args;

/// Flags of the web UI.
#[derive(Args, Debug)]
pub struct UiArgs {
    /// Serve the web UI at `/ui/` (its pages read events through this hub's API, with the
    /// same TLS, authentication and authorization).
    #[arg(long = "ui", env = "KEVENTS_UI", default_value_t = true, action = clap::ArgAction::Set)]
    ui: bool,
}

/// The hub's routes with the UI's added when it is on.
pub fn add(args: &UiArgs, app: Router) -> Router {
    if args.ui {
        app.merge(kevents_ui::router())
    } else {
        app
    }
}
