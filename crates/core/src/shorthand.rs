//! Chat shorthand spelled out before a message is searched and answered: customers type "msgs", "env
//! vars", "prod db", "ppl", "u"; docs write "messages", "environment variables", "production database",
//! "people", "you". Neither keyword search nor the embedding model meets the short form with the long
//! one, and the knowledge base's vocabulary would count the short form as a term the docs never use
//! (which lowers the answer's confidence). Only whole words are replaced; the customer's message as stored
//! in the conversation is left as typed.

/// Short forms, what they stand for (lowercase), and whether docs also write the short form (an `env`
/// command, a `DB_HOST` variable). Only forms with one reading in a customer's message to a software
/// company ("min" could be minimum or minute, "dev" development or developer: left alone).
const SHORTHAND: &[(&str, &str, bool)] = &[
    ("u", "you", false),
    ("ur", "your", false),
    ("ya", "you", false),
    ("pls", "please", false),
    ("plz", "please", false),
    ("ppl", "people", false),
    ("rn", "right now", false),
    ("atm", "at the moment", false),
    ("tho", "though", false),
    ("thru", "through", false),
    ("w/", "with", false),
    ("w/o", "without", false),
    ("b/c", "because", false),
    ("cuz", "because", false),
    ("coz", "because", false),
    ("wanna", "want to", false),
    ("gonna", "going to", false),
    ("gotta", "have to", false),
    ("dont", "don't", false),
    ("cant", "can't", false),
    ("wont", "won't", false),
    ("doesnt", "doesn't", false),
    ("isnt", "isn't", false),
    ("didnt", "didn't", false),
    ("arent", "aren't", false),
    ("im", "I'm", false),
    ("ive", "I've", false),
    ("msg", "message", true),
    ("msgs", "messages", true),
    ("db", "database", true),
    ("dbs", "databases", true),
    ("env", "environment", true),
    ("envs", "environments", true),
    ("var", "variable", true),
    ("vars", "variables", true),
    ("repo", "repository", true),
    ("repos", "repositories", true),
    ("perms", "permissions", true),
    ("prod", "production", true),
    ("config", "configuration", true),
    ("creds", "credentials", true),
    ("info", "information", true),
    ("mins", "minutes", true),
    ("secs", "seconds", true),
    ("hrs", "hours", true),
    ("yrs", "years", true),
    ("acct", "account", true),
    ("org", "organization", true),
    ("orgs", "organizations", true),
    ("notifs", "notifications", true),
    ("k8s", "kubernetes", true),
    ("mgmt", "management", true),
    ("approx", "approximately", true),
    ("avg", "average", true),
    ("qty", "quantity", true),
];

/// `message` with its chat shorthand spelled out ("how do i set env vars in prod" → "how do i set
/// environment variables in production"); unchanged when it has none. The answerer reads this.
pub fn expand(message: &str) -> String {
    rewrite(message, false)
}

/// `query` with its chat shorthand spelled out, keeping the typed form beside the long one where docs
/// may write it too ("env vars" → "env environment vars variables"): keyword search then finds both.
pub fn expand_for_search(query: &str) -> String {
    rewrite(query, true)
}

fn rewrite(message: &str, keep_literal: bool) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for token in message.split_inclusive(char::is_whitespace) {
        // A token is a word between spaces with its punctuation ("vars,", "(prod)", "db?"); a file or a
        // path (".env", "/env/prod.json", "config.toml") is no shorthand.
        let core = token
            .trim_end()
            .trim_start_matches(['(', '[', '"', '\'', '“', '‘'])
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '"', '\'', '”', '’']);
        let lower = core.to_lowercase();
        match SHORTHAND.iter().find(|(short, _, _)| *short == lower).filter(|_| !core.is_empty()) {
            Some((_, long, literal)) => {
                let at = token.find(core).unwrap_or(0);
                out.push_str(&token[..at]);
                if keep_literal && *literal {
                    out.push_str(core);
                    out.push(' ');
                }
                out.push_str(long);
                out.push_str(&token[at + core.len()..]);
            }
            None => out.push_str(token),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_is_spelled_out_whole_words_only() {
        assert_eq!(expand("how do i set env vars in prod"), "how do i set environment variables in production");
        assert_eq!(expand("msgs not arriving, can u help pls?"), "messages not arriving, can you help please?");
        assert_eq!(expand("deploy w/o a Dockerfile"), "deploy without a Dockerfile");
        assert_eq!(expand("Repo is private"), "repository is private");
        // Parts of words, paths and ordinary words stay as typed.
        assert_eq!(expand("user environment /env/prod.json"), "user environment /env/prod.json");
        assert_eq!(expand("where do i paste my .env file"), "where do i paste my .env file");
        assert_eq!(expand("the message menu"), "the message menu");
        assert_eq!(expand(""), "");
        // Search keeps a short form docs may write too beside the long one.
        assert_eq!(expand_for_search("set env vars pls"), "set env environment vars variables please");
    }
}
