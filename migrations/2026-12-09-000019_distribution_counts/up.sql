-- The rollup of the distribution report (issue 17, report 2): where the active participants of
-- each municipality live, as the workers last counted it together with the participation count,
-- so the map of a large region answers at once instead of finding every participant's home.
-- Per 500 m square of the national grid (RD New: the square's x and y divided by 500) and 4-digit
-- postcode area of the home ('' when its postcode is unknown). Counts only, never who; a square
-- or area under 5 is never shown, only counted in the total of those left out.
CREATE TABLE distribution_counts (
    municipality_cbs text NOT NULL REFERENCES municipalities (cbs_code) ON DELETE CASCADE,
    cell_x           bigint NOT NULL,
    cell_y           bigint NOT NULL,
    postcode_area    text NOT NULL CHECK (postcode_area = '' OR postcode_area ~ '^[0-9]{4}$'),
    participants     integer NOT NULL CHECK (participants > 0),
    PRIMARY KEY (municipality_cbs, cell_x, cell_y, postcode_area)
);
