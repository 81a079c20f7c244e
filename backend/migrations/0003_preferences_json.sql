-- Preferences move from jsonb to json. jsonb cannot hold U+0000 in a string, so a document
-- the API accepts (any JSON string is a valid preference value or key) could fail at the
-- database; json stores the text as written and only checks its syntax. Nothing queries
-- inside preferences: they are read and replaced whole.
ALTER TABLE user_preferences DROP CONSTRAINT user_preferences_preferences_check;
ALTER TABLE user_preferences ALTER COLUMN preferences DROP DEFAULT;
ALTER TABLE user_preferences ALTER COLUMN preferences TYPE json USING preferences::json;
ALTER TABLE user_preferences ALTER COLUMN preferences SET DEFAULT '{}'::json;
ALTER TABLE user_preferences
    ADD CONSTRAINT user_preferences_preferences_check CHECK (json_typeof(preferences) = 'object');
