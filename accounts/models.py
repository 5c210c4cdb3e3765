# Sellers are Django's own users; nothing to add yet.
