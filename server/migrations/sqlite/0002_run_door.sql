-- The door a run came in through: rest, grpc or adapter. Runs from every door are recorded.
ALTER TABLE runs ADD COLUMN door TEXT NOT NULL DEFAULT 'rest' CHECK (door IN ('rest', 'grpc', 'adapter'));
