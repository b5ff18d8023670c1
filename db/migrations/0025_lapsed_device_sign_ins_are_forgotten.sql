-- A device's sign-in is started without a token, so its rows must not pile up: housekeeping deletes those that lapsed
-- more than a day ago (kith_forget_device_sign_ins, the narrow role's), whatever their organisation.
GRANT SELECT, DELETE ON device_sign_ins TO kith_definer;
CREATE POLICY definer_reads ON device_sign_ins FOR SELECT TO kith_definer USING (true);
CREATE POLICY definer_forgets ON device_sign_ins FOR DELETE TO kith_definer USING (true);
