//! Chat shorthand spelled out before a message is searched and answered: customers type "msgs", "env
//! vars", "prod db", "ppl", "u"; docs write "messages", "environment variables", "production database",
//! "people", "you". Neither keyword search nor the embedding model meets the short form with the long
//! one, and the knowledge base's vocabulary would count the short form as a term the docs never use
//! (which lowers the answer's confidence). Only whole words are replaced; the customer's message as stored
//! in the conversation is left as typed.

/// Short forms and what they stand for, lowercase. Only forms with one reading in a customer's message
/// to a software company ("min" could be minimum or minute, "dev" development or developer: left alone).
const SHORTHAND: &[(&str, &str)] = &[
    ("u", "you"),
    ("ur", "your"),
    ("ya", "you"),
    ("pls", "please"),
    ("plz", "please"),
    ("ppl", "people"),
    ("rn", "right now"),
    ("atm", "at the moment"),
    ("tho", "though"),
    ("thru", "through"),
    ("w/", "with"),
    ("w/o", "without"),
    ("b/c", "because"),
    ("cuz", "because"),
    ("coz", "because"),
    ("wanna", "want to"),
    ("gonna", "going to"),
    ("gotta", "have to"),
    ("dont", "don't"),
    ("cant", "can't"),
    ("wont", "won't"),
    ("doesnt", "doesn't"),
    ("isnt", "isn't"),
    ("didnt", "didn't"),
    ("arent", "aren't"),
    ("im", "I'm"),
    ("ive", "I've"),
    ("msg", "message"),
    ("msgs", "messages"),
    ("db", "database"),
    ("dbs", "databases"),
    ("env", "environment"),
    ("envs", "environments"),
    ("var", "variable"),
    ("vars", "variables"),
    ("repo", "repository"),
    ("repos", "repositories"),
    ("perms", "permissions"),
    ("prod", "production"),
    ("config", "configuration"),
    ("creds", "credentials"),
    ("info", "information"),
    ("mins", "minutes"),
    ("secs", "seconds"),
    ("hrs", "hours"),
    ("yrs", "years"),
    ("acct", "account"),
    ("org", "organization"),
    ("orgs", "organizations"),
    ("notifs", "notifications"),
    ("k8s", "kubernetes"),
    ("mgmt", "management"),
    ("approx", "approximately"),
    ("avg", "average"),
    ("qty", "quantity"),
];

/// `message` with its chat shorthand spelled out ("how do i set env vars in prod" → "how do i set
/// environment variables in production"); unchanged when it has none.
pub fn expand(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for token in message.split_inclusive(char::is_whitespace) {
        // A token is a word between spaces with its punctuation ("vars,", "(prod)", "db?"); a file or a
        // path (".env", "/env/prod.json", "config.toml") is no shorthand.
        let core = token
            .trim_end()
            .trim_start_matches(['(', '[', '"', '\'', '“', '‘'])
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '"', '\'', '”', '’']);
        let lower = core.to_lowercase();
        match SHORTHAND.iter().find(|(short, _)| *short == lower).filter(|_| !core.is_empty()) {
            Some((_, long)) => {
                let at = token.find(core).unwrap_or(0);
                out.push_str(&token[..at]);
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
    }
}
