"""The post office's counter: walk-in dossiers, results collected there, and the queue."""
