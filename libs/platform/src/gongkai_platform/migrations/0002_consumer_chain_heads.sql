-- The last hash a chain-verifying consumer accepted per producer topic and bureau.
CREATE TABLE IF NOT EXISTS consumer_chain_heads (
    consumer   text NOT NULL,
    topic      text NOT NULL,
    bureau_id  text NOT NULL,
    hash       text NOT NULL,
    PRIMARY KEY (consumer, topic, bureau_id)
);
