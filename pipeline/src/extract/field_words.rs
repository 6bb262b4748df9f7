//! Word lists that type a column by its name (`price` → decimal, `bio` → text).

#[rustfmt::skip]
pub(super) const URL_WORDS: &[&str] = &[
    "url", "uri", "link", "website", "homepage", "webpage", "image", "photo", "picture", "avatar",
    "logo", "thumbnail", "icon", "banner", "permalink", "resume", "cv", "attachment",
];
#[rustfmt::skip]
pub(super) const JSON_WORDS: &[&str] = &[
    "metadata", "settings", "payload", "attributes", "properties", "config", "configuration",
    "preferences", "extra", "json", "specs", "specifications", "meta",
];
#[rustfmt::skip]
pub(super) const DATE_WORDS: &[&str] = &[
    "date", "birthday", "birthdate", "dob", "deadline", "anniversary", "day",
];
#[rustfmt::skip]
pub(super) const BOOL_WORDS: &[&str] = &[
    "active", "enabled", "disabled", "published", "done", "completed", "complete", "archived",
    "verified", "visible", "public", "private", "featured", "paid", "available", "approved",
    "pinned", "deleted", "confirmed", "blocked", "banned", "locked", "hidden", "resolved",
    "flagged", "vegan", "vegetarian", "refundable", "vaccinated", "neutered", "spayed", "sold",
    "checked", "starred", "favorite", "remote", "draft", "read", "closed", "open", "cancelled",
    "canceled", "returned", "shipped", "delivered", "accepted", "urgent", "recurring", "returnable",
    "adopted", "edited", "enrolled", "subscribed", "attended", "online", "onsite", "ready",
];
#[rustfmt::skip]
pub(super) const MONEY_WORDS: &[&str] = &[
    "price", "amount", "cost", "salary", "total", "balance", "fee", "fees", "budget", "wage",
    "wages", "revenue", "income", "subtotal", "tax", "discount", "rate", "deposit", "tip", "charge",
    "fare", "rent", "refund", "bid", "payout", "commission", "premium", "spend", "payment", "worth",
    "compensation", "pay", "donation", "valuation", "prices", "costs",
];
#[rustfmt::skip]
pub(super) const INT_WORDS: &[&str] = &[
    "count", "quantity", "qty", "position", "rating", "stars", "score", "age", "stock", "year",
    "capacity", "seats", "level", "duration", "minutes", "hours", "seconds", "days", "weeks",
    "months", "years", "cents", "servings", "calories", "floor", "number", "views", "clicks",
    "likes", "votes", "points", "visits", "downloads", "reps", "sets", "pages", "sequence",
    "version", "attempts", "retries", "copies", "followers", "upvotes", "downvotes", "priority",
    "ranking", "rank", "size", "credits", "bedrooms", "bathrooms", "beds", "laps", "goals",
    "assists", "round", "week", "month", "episodes", "chapters", "runtime", "mileage", "sort_order",
];
/// Integer words that count events and start at zero.
#[rustfmt::skip]
pub(super) const COUNTERS: &[&str] = &[
    "count", "views", "clicks", "likes", "votes", "points", "visits", "downloads", "stock",
    "followers", "upvotes", "downvotes", "credits", "copies",
];
#[rustfmt::skip]
pub(super) const FLOAT_WORDS: &[&str] = &[
    "latitude", "longitude", "lat", "lng", "lon", "weight", "height", "width", "length", "depth",
    "distance", "temperature", "percentage", "percent", "ratio", "speed", "area", "volume", "km",
    "miles", "kg", "grams", "lbs", "bmi", "gpa", "elevation", "meters", "progress",
];
#[rustfmt::skip]
pub(super) const TEXT_WORDS: &[&str] = &[
    "description", "body", "content", "notes", "note", "bio", "biography", "abstract", "comment",
    "summary", "text", "message", "details", "instructions", "directions", "feedback", "reason",
    "remarks", "excerpt", "about", "story", "transcript", "answer", "diagnosis", "symptoms",
    "requirements", "responsibilities", "caption", "lyrics", "synopsis", "overview", "markdown",
    "html", "explanation", "review", "letter", "essay", "prescription", "treatment",
    "ingredients_text", "steps", "agenda", "minutes_text", "question", "reply", "response",
    "introduction", "profile_text", "cover_letter", "qualifications", "benefits",
];
#[rustfmt::skip]
pub(super) const TIME_OF_DAY: &[&str] = &[
    "opening", "closing", "open", "close", "wake", "wakeup", "bed", "bedtime", "daily", "alarm",
    "reminder", "lunch", "check", "preferred", "pickup", "delivery",
];
/// Strings that identify a row and are unique.
#[rustfmt::skip]
pub(super) const IDENTIFIERS: &[&str] = &[
    "isbn", "sku", "slug", "username", "handle", "barcode", "vin", "serial_number", "ean", "upc",
    "license_plate", "short_code", "code",
];
#[rustfmt::skip]
pub(super) const SHORT_NAMES: &[&str] = &[
    "name", "title", "label", "subject", "headline", "first_name", "last_name", "full_name",
    "display_name", "nickname", "company_name",
];
#[rustfmt::skip]
pub(super) const IMPLICIT: &[&str] = &[
    "id", "created_at", "updated_at", "created", "updated", "creation_date", "created_date",
    "updated_date", "modified", "last_modified", "last_updated", "timestamps", "created_on",
    "updated_on", "date_created", "date_updated",
];
#[rustfmt::skip]
pub(super) const PASSWORDS: &[&str] = &[
    "password", "password_hash", "hashed_password", "pass", "pwd", "passcode",
];
