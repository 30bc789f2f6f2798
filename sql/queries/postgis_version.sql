SELECT postgis_lib_version() AS postgis, current_setting('server_version') AS postgresql;
