^XA
^CI28
^PW800
^LL1200
^LH0,0
^CW1,E:BVNPRO.TTF
^FO32,32^A1N,28,28^FH^FDBƯU ĐIỆN VIỆT NAM^FS
^FO32,72^A1N,18,18^FB416,2,0,L,0^FH^FDBưu cục / Post office: Bưu cục Kinh Bắc - Bắc Ninh^FS
^FO480,32^GB288,52,52^FS
^FO480,42^A1N,21,21^FB288,1,0,C,0^FR^FH^FDHỒ SƠ TTHC / DOSSIER^FS
^FO480,96^A1N,18,18^FH^FDNgày / Date: 14/07/2025^FS
^FO32,136^GB736,2,2^FS
^FO166,152^BY3,3,144^BCN,144,N,N,N,A^FDEB123456785VN^FS
^FO0,302^A1N,37,37^FB800,1,0,C,0^FH^FDEB 123 456 785 VN^FS
^FO32,344^GB736,2,2^FS
^FO32,360^A1N,20,20^FH^FDNgười nhận / Recipient^FS
^FO32,388^A1N,31,31^FB736,2,0,L,0^FH^FDTrung tâm Phục vụ hành chính công tỉnh Bắc Ninh^FS
^FO32,456^A1N,25,25^FH^FDĐT / Tel: 02*******58^FS
^FO32,488^A1N,25,25^FB736,2,0,L,0^FH^FDSố 11 đường Lý Thái Tổ^FS
^FO32,546^A1N,30,30^FH^FDPhường Kinh Bắc, Bắc Ninh^FS
^FO32,599^A1N,21,21^FB736,2,0,L,0^FH^FDNơi nhận / Destination office: Bộ phận một cửa - Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh^FS
^FO32,656^GB736,2,2^FS
^FO32,672^A1N,20,20^FH^FDNgười gửi / Sender^FS
^FO32,700^A1N,23,23^FH^FDNguyễn Thị Hương · ĐT / Tel: 09******78^FS
^FO32,732^A1N,21,21^FB736,2,0,L,0^FH^FDSố 12 ngõ 34 đường Nguyễn Đăng Đạo, khu phố Tiền An, Phường Kinh Bắc, Bắc Ninh^FS
^FO32,816^GB736,2,2^FS
^FO32,832^A1N,20,20^FH^FDThủ tục / Procedure^FS
^FO32,860^A1N,23,23^FB736,2,0,L,0^FH^FDCấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp^FS
^FO32,920^GB736,2,2^FS
^FO32,936^A1N,18,18^FH^FDSố niêm phong / Seal no.^FS
^FO32,958^A1N,28,28^FH^FDNP-0012345^FS
^FO32,997^A1N,18,18^FH^FDKhối lượng / Weight^FS
^FO32,1019^A1N,28,28^FH^FD350 g^FS
^FO32,1058^A1N,18,18^FH^FDThu hộ / Collect^FS
^FO32,1080^A1N,28,28^FH^FD26.000 ₫^FS
^FO32,1118^A1N,18,18^FH^FDTra cứu / Track:^FS
^FO32,1139^A1N,17,17^FB488,2,0,L,0^FH^FDhttps://hoso.vnpost.vn/t/EB123456785VN^FS
^FO569,969^BQN,2,5^FDQA,https://hoso.vnpost.vn/t/EB123456785VN^FS
^PQ1
^XZ
