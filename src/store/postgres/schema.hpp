// chatkit-cpp (private): the PostgreSQL schema of PostgresStore, as its migrations (see the layout
// comment at the top of backend.cpp). Included by backend.cpp only.
#pragma once

namespace chatkit::postgres::detail::schema {

// The schema, one entry per version: migrations[v] turns version v into v + 1, in the transaction
// that holds the migration lock. Never edit a released entry; append one and bump
// backend::schema_version (later features add their tables this way).
struct migration {
    char const* description;
    char const* sql;
};

inline constexpr migration migrations[] = {
    {"threads, items and attachments", R"sql(
    CREATE SEQUENCE chatkit_thread_seq;
    CREATE TABLE chatkit_threads (
        owner      text COLLATE "C" NOT NULL,
        id         text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        seq        bigint NOT NULL,
        item_seq   bigint NOT NULL DEFAULT 0,
        data       text   NOT NULL,
        PRIMARY KEY (owner, id)
    );
    CREATE UNIQUE INDEX chatkit_threads_by_order ON chatkit_threads (owner, created_at, seq);
    CREATE TABLE chatkit_items (
        owner      text COLLATE "C" NOT NULL,
        thread_id  text COLLATE "C" NOT NULL,
        id         text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        seq        bigint NOT NULL,
        data       text   NOT NULL,
        PRIMARY KEY (owner, thread_id, id),
        FOREIGN KEY (owner, thread_id) REFERENCES chatkit_threads (owner, id) ON DELETE CASCADE
    );
    CREATE UNIQUE INDEX chatkit_items_by_order ON chatkit_items (owner, thread_id, created_at, seq);
    CREATE TABLE chatkit_attachments (
        owner text COLLATE "C" NOT NULL,
        id    text COLLATE "C" NOT NULL,
        data  text NOT NULL,
        PRIMARY KEY (owner, id)
    );
    )sql"},
    {"token usage", R"sql(
    CREATE TABLE chatkit_usage_responses (
        id          bigserial PRIMARY KEY,
        owner       text COLLATE "C" NOT NULL,
        thread_id   text COLLATE "C" NOT NULL,
        response_id text NOT NULL,
        day         bigint NOT NULL,
        input       bigint NOT NULL,
        cached      bigint NOT NULL,
        output      bigint NOT NULL,
        reasoning   bigint NOT NULL
    );
    CREATE INDEX chatkit_usage_responses_by_thread ON chatkit_usage_responses (owner, thread_id, id);
    CREATE TABLE chatkit_usage_threads (
        owner     text COLLATE "C" NOT NULL,
        thread_id text COLLATE "C" NOT NULL,
        input     bigint NOT NULL,
        cached    bigint NOT NULL,
        output    bigint NOT NULL,
        reasoning bigint NOT NULL,
        PRIMARY KEY (owner, thread_id)
    );
    CREATE TABLE chatkit_usage_days (
        owner     text COLLATE "C" NOT NULL,
        day       bigint NOT NULL,
        input     bigint NOT NULL,
        cached    bigint NOT NULL,
        output    bigint NOT NULL,
        reasoning bigint NOT NULL,
        PRIMARY KEY (owner, day)
    );
    )sql"},
    {"shared run log", R"sql(
    CREATE TABLE chatkit_runs (
        owner       text COLLATE "C" NOT NULL,
        thread_id   text COLLATE "C" NOT NULL,
        run_id      text COLLATE "C" NOT NULL UNIQUE,
        instance    text COLLATE "C" NOT NULL,
        status      smallint NOT NULL,
        cancel      boolean NOT NULL,
        first_idx   bigint NOT NULL,
        size        bigint NOT NULL,
        lease_until timestamptz NOT NULL,
        ended_at    timestamptz,
        PRIMARY KEY (owner, thread_id)
    );
    CREATE INDEX chatkit_runs_by_end ON chatkit_runs (ended_at) WHERE ended_at IS NOT NULL;
    CREATE TABLE chatkit_run_events (
        run_id text COLLATE "C" NOT NULL,
        idx    bigint NOT NULL,
        frame  text NOT NULL,
        PRIMARY KEY (run_id, idx)
    );
    )sql"},
};
}  // namespace chatkit::postgres::detail::schema
