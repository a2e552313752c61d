"""rlkit agents. Each algorithm lives in its own module and is imported only when used."""
