-- Run once as the postgres superuser (psql -f setup.sql): the role and the database. The
-- tables are created by the first Likewatch process that opens the catalog.
CREATE ROLE likewatch LOGIN PASSWORD 'CHANGE-ME';
CREATE DATABASE likewatch OWNER likewatch ENCODING 'UTF8' TEMPLATE template0;
