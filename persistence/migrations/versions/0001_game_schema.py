"""The game schema: users, professions, zones, rooms, players, items and containers.

Revision ID: 0001
Revises:
"""

from alembic import op

from persistence.migrations import game_schema_wanted

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE users (
    user_id        uuid PRIMARY KEY,
    username       varchar(50) NOT NULL UNIQUE CHECK (length(btrim(username)) > 0),
    email          varchar(254) NOT NULL UNIQUE CHECK (position('@' in email) > 1),
    password_hash  text NOT NULL,
    is_active      boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE professions (
    profession_id     integer PRIMARY KEY CHECK (profession_id >= 0),
    name              varchar(50) NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    description       text NOT NULL DEFAULT '',
    flavor_text       text NOT NULL DEFAULT '',
    stat_requirements jsonb NOT NULL DEFAULT '{}'::jsonb
                      CHECK (jsonb_typeof(stat_requirements) = 'object'),
    is_available      boolean NOT NULL DEFAULT true
);

CREATE TABLE zones (
    zone_id        varchar(64) PRIMARY KEY CHECK (zone_id ~ '^[a-z][a-z0-9_]*$'),
    name           varchar(100) NOT NULL,
    description    text NOT NULL DEFAULT '',
    start_room_id  varchar(100)
);

CREATE TABLE rooms (
    room_id      varchar(100) PRIMARY KEY CHECK (room_id ~ '^[a-z][a-z0-9_]*$'),
    zone_id      varchar(64) NOT NULL REFERENCES zones(zone_id),
    name         varchar(100) NOT NULL,
    description  text NOT NULL DEFAULT '',
    environment  varchar(32) NOT NULL DEFAULT 'indoors'
                 CHECK (environment IN ('indoors', 'outdoors', 'underground', 'water'))
);
CREATE INDEX rooms_zone_idx ON rooms (zone_id);

ALTER TABLE zones ADD CONSTRAINT zones_start_room_fk
    FOREIGN KEY (start_room_id) REFERENCES rooms(room_id) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE room_exits (
    room_id         varchar(100) NOT NULL REFERENCES rooms(room_id) ON DELETE CASCADE,
    direction       varchar(10) NOT NULL
                    CHECK (direction IN ('north','south','east','west','up','down',
                                         'northeast','northwest','southeast','southwest')),
    target_room_id  varchar(100) NOT NULL REFERENCES rooms(room_id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, direction)
);

CREATE TABLE players (
    player_id          uuid PRIMARY KEY,
    user_id            uuid NOT NULL UNIQUE REFERENCES users(user_id) ON DELETE CASCADE,
    name               varchar(50) NOT NULL CHECK (length(btrim(name)) > 0),
    profession_id      integer NOT NULL REFERENCES professions(profession_id),
    current_room_id    varchar(100) NOT NULL,
    stats              jsonb NOT NULL CHECK (
                           jsonb_typeof(stats) = 'object'
                           AND stats ?& ARRAY['current_health','max_health','strength',
                               'dexterity','constitution','intelligence','wisdom','charisma',
                               'sanity','fear','corruption','occult_knowledge','position']
                           AND jsonb_typeof(stats->'current_health') = 'number'
                           AND jsonb_typeof(stats->'max_health') = 'number'
                           AND (stats->>'max_health')::int > 0
                           AND (stats->>'current_health')::int BETWEEN -10
                               AND (stats->>'max_health')::int
                           AND stats->>'position' IN ('standing','sitting','lying')),
    inventory          jsonb NOT NULL DEFAULT '[]'::jsonb
                       CHECK (jsonb_typeof(inventory) = 'array'
                              AND jsonb_array_length(inventory) <= 20),
    equipped           jsonb NOT NULL DEFAULT '{}'::jsonb
                       CHECK (jsonb_typeof(equipped) = 'object'),
    experience_points  integer NOT NULL DEFAULT 0 CHECK (experience_points >= 0),
    level              integer NOT NULL DEFAULT 1 CHECK (level >= 1),
    is_admin           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    last_active        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX players_name_key ON players (lower(name));
CREATE INDEX players_room_idx ON players (current_room_id);

CREATE TABLE item_prototypes (
    prototype_id  varchar(100) PRIMARY KEY CHECK (prototype_id ~ '^[a-z][a-z0-9_.]*$'),
    name          varchar(100) NOT NULL,
    item_type     varchar(32) NOT NULL
                  CHECK (item_type IN ('weapon','armor','consumable','artifact','tome',
                                       'container','junk','key')),
    weight        numeric(8,2) NOT NULL DEFAULT 0 CHECK (weight >= 0),
    base_value    integer NOT NULL DEFAULT 0 CHECK (base_value >= 0),
    stackable     boolean NOT NULL DEFAULT false,
    wear_slots    text[] NOT NULL DEFAULT '{}',
    attributes    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object')
);

CREATE TABLE item_instances (
    item_instance_id  varchar(100) PRIMARY KEY CHECK (length(btrim(item_instance_id)) > 0),
    prototype_id      varchar(100) NOT NULL REFERENCES item_prototypes(prototype_id),
    owner_type        varchar(16) NOT NULL DEFAULT 'none'
                      CHECK (owner_type IN ('none','player','room','container','npc')),
    owner_id          varchar(100),
    location_context  varchar(100),
    quantity          integer NOT NULL DEFAULT 1 CHECK (quantity BETWEEN 1 AND 9999),
    condition         integer CHECK (condition BETWEEN 0 AND 100),
    custom_name       varchar(100),
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((owner_type = 'none') = (owner_id IS NULL))
);
CREATE INDEX item_instances_owner_idx ON item_instances (owner_type, owner_id);

CREATE TABLE containers (
    container_id    uuid PRIMARY KEY,
    source_type     varchar(16) NOT NULL
                    CHECK (source_type IN ('environment','equipment','corpse')),
    owner_id        uuid,
    room_id         varchar(100) REFERENCES rooms(room_id),
    entity_id       uuid,
    lock_state      varchar(16) NOT NULL DEFAULT 'unlocked'
                    CHECK (lock_state IN ('unlocked','locked','sealed')),
    capacity_slots  integer NOT NULL DEFAULT 20 CHECK (capacity_slots BETWEEN 1 AND 20),
    weight_limit    numeric(8,2) CHECK (weight_limit > 0),
    decay_at        timestamptz,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (source_type <> 'environment' OR room_id IS NOT NULL),
    CHECK (source_type <> 'equipment' OR entity_id IS NOT NULL)
);
CREATE INDEX containers_room_idx ON containers (room_id);
CREATE INDEX containers_entity_idx ON containers (entity_id);
CREATE INDEX containers_decay_idx ON containers (decay_at) WHERE decay_at IS NOT NULL;

CREATE TABLE container_contents (
    container_id      uuid NOT NULL REFERENCES containers(container_id) ON DELETE CASCADE,
    item_instance_id  varchar(100) NOT NULL UNIQUE
                      REFERENCES item_instances(item_instance_id) ON DELETE CASCADE,
    position          integer NOT NULL CHECK (position BETWEEN 0 AND 19),
    added_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (container_id, item_instance_id),
    UNIQUE (container_id, position)
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS container_contents, containers, item_instances, item_prototypes, players,
           room_exits, rooms, zones, professions, users CASCADE;
"""


def upgrade() -> None:
    if game_schema_wanted():
        op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
