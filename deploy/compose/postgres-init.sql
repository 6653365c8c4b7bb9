-- One database and one role per service, as in production. Local passwords only; never reuse them.
CREATE ROLE intake LOGIN PASSWORD 'intake-local';
CREATE DATABASE intake OWNER intake;
CREATE ROLE orders LOGIN PASSWORD 'orders-local';
CREATE DATABASE orders OWNER orders;
CREATE ROLE documentation LOGIN PASSWORD 'documentation-local';
CREATE DATABASE documentation OWNER documentation;
