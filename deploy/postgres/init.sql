-- One database per service (DESIGN.md, "Consistency" 1). Run once by the postgres image on an
-- empty data directory; each service applies its own migrations when it starts.
CREATE DATABASE catalogue OWNER gongkai;
CREATE DATABASE requests OWNER gongkai;
CREATE DATABASE review OWNER gongkai;
CREATE DATABASE reporting OWNER gongkai;
