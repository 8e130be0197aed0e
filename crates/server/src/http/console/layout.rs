//! The frame every console page shares: the header with the navigation, who is signed
//! in, the language switch and sign-out.

use maud::{DOCTYPE, Markup, html};

use super::i18n::{Lang, Msg};
use super::session::Desk;
use crate::auth::Role;

/// Who is signed in, as the header shows them.
pub(crate) struct User<'a> {
    pub identity: &'a str,
    pub role: Role,
    pub can_audit: bool,
    pub csrf: &'a str,
}

/// What the frame needs to know about the request.
pub(crate) struct Chrome<'a> {
    pub lang: Lang,
    pub here: &'a str,
    pub user: Option<User<'a>>,
}

impl Desk {
    pub(crate) fn chrome(&self) -> Chrome<'_> {
        Chrome {
            lang: self.lang,
            here: &self.here,
            user: Some(User {
                identity: self.principal.identity(),
                role: self.principal.role,
                can_audit: self.principal.can_audit_log(),
                csrf: &self.csrf,
            }),
        }
    }

    pub(crate) fn t(&self, msg: Msg) -> &'static str {
        msg.text(self.lang)
    }
}

fn role_name(role: Role, lang: Lang) -> &'static str {
    match (role, lang) {
        (Role::Dealer, Lang::Zh) => "经销商",
        (Role::Dealer, Lang::En) => "dealer",
        (Role::Cac, Lang::Zh) => "客服中心",
        (Role::Cac, Lang::En) => "CAC",
        (Role::Auditor, Lang::Zh) => "审计员",
        (Role::Auditor, Lang::En) => "auditor",
        (Role::Admin, Lang::Zh) => "管理员",
        (Role::Admin, Lang::En) => "admin",
    }
}

pub(crate) fn page(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    let lang = chrome.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.html()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (Msg::AppName.text(lang)) }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                link rel="icon" type="image/svg+xml" href=(super::assets::ICON_PATH);
            }
            body {
                header.top {
                    a.brand href="/" { (Msg::AppName.text(lang)) }
                    @if let Some(user) = &chrome.user {
                        nav {
                            a href="/" { (Msg::NavQueue.text(lang)) }
                            a href="/statistics" { (Msg::NavStatistics.text(lang)) }
                            @if user.can_audit {
                                a href="/audit" { (Msg::NavAudit.text(lang)) }
                            }
                        }
                    }
                    div.who {
                        form.inline method="get" action="/lang" {
                            input type="hidden" name="to" value=(lang.other().code());
                            input type="hidden" name="back" value=(chrome.here);
                            button.link type="submit" id="switch-language" { (Msg::SwitchLanguage.text(lang)) }
                        }
                        @if let Some(user) = &chrome.user {
                            span.identity id="identity" {
                                (Msg::SignedInAs.text(lang)) ": " strong { (user.identity) }
                                " (" (role_name(user.role, lang)) ")"
                            }
                            form.inline method="post" action="/sign-out" {
                                input type="hidden" name="csrf" value=(user.csrf);
                                button.link type="submit" id="sign-out" { (Msg::SignOut.text(lang)) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}
