/*-------------------------------------------------------------------------
 *
 * kern_float_body.h
 *	  The bodies of the squared-L2, inner-product and one-pass dot/norms
 *	  kernels of an f32 query a against a stored vector b whose elements
 *	  load as floats, shared by the families whose only difference is that
 *	  load: f32 itself (kern_f32.c) and bf16 codes (kern_bf16.c).  Each
 *	  family includes this file once, after defining:
 *		RV_BODY_FN(name)		the function's mangled name
 *		RV_BODY_T				the element type of b
 *		RV_BODY_LOAD(p)			RV_VW elements at p, widened to an rv_vf
 *		RV_BODY_LOAD_TAIL(p, r)	r < RV_VW elements at p, other lanes zero,
 *								reading nothing past p[r-1]
 *	  and W (RV_VW).  The loops keep four accumulators (two for dot_norms,
 *	  which has three sums) to cover add/FMA latency.
 *
 *-------------------------------------------------------------------------
 */

/* sum (a[i] - b[i])^2 over n */
float
RV_BODY_FN(l2sq) (const float *a, const RV_BODY_T *b, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		rv_vf		d0 = rv_sub(rv_loadu(a + i), RV_BODY_LOAD(b + i));
		rv_vf		d1 = rv_sub(rv_loadu(a + i + W), RV_BODY_LOAD(b + i + W));
		rv_vf		d2 = rv_sub(rv_loadu(a + i + 2 * W), RV_BODY_LOAD(b + i + 2 * W));
		rv_vf		d3 = rv_sub(rv_loadu(a + i + 3 * W), RV_BODY_LOAD(b + i + 3 * W));

		s0 = rv_fmadd(d0, d0, s0);
		s1 = rv_fmadd(d1, d1, s1);
		s2 = rv_fmadd(d2, d2, s2);
		s3 = rv_fmadd(d3, d3, s3);
	}
	for (; i + W <= n; i += W)
	{
		rv_vf		d = rv_sub(rv_loadu(a + i), RV_BODY_LOAD(b + i));

		s0 = rv_fmadd(d, d, s0);
	}
	if (i < n)
	{
		rv_vf		d = rv_sub(rv_load_tail(a + i, n - i), RV_BODY_LOAD_TAIL(b + i, n - i));

		s1 = rv_fmadd(d, d, s1);
	}
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* sum a[i] * b[i] over n */
float
RV_BODY_FN(dot) (const float *a, const RV_BODY_T *b, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		s0 = rv_fmadd(rv_loadu(a + i), RV_BODY_LOAD(b + i), s0);
		s1 = rv_fmadd(rv_loadu(a + i + W), RV_BODY_LOAD(b + i + W), s1);
		s2 = rv_fmadd(rv_loadu(a + i + 2 * W), RV_BODY_LOAD(b + i + 2 * W), s2);
		s3 = rv_fmadd(rv_loadu(a + i + 3 * W), RV_BODY_LOAD(b + i + 3 * W), s3);
	}
	for (; i + W <= n; i += W)
		s0 = rv_fmadd(rv_loadu(a + i), RV_BODY_LOAD(b + i), s0);
	if (i < n)
		s1 = rv_fmadd(rv_load_tail(a + i, n - i), RV_BODY_LOAD_TAIL(b + i, n - i), s1);
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n, one pass */
void
RV_BODY_FN(dot_norms) (const float *a, const RV_BODY_T *b, int n,
							 float *dot, float *aa, float *bb)
{
	rv_vf		d0 = rv_zero(),
				d1 = rv_zero(),
				x0 = rv_zero(),
				x1 = rv_zero(),
				y0 = rv_zero(),
				y1 = rv_zero();
	int			i = 0;

	for (; i + 2 * W <= n; i += 2 * W)
	{
		rv_vf		va0 = rv_loadu(a + i);
		rv_vf		vb0 = RV_BODY_LOAD(b + i);
		rv_vf		va1 = rv_loadu(a + i + W);
		rv_vf		vb1 = RV_BODY_LOAD(b + i + W);

		d0 = rv_fmadd(va0, vb0, d0);
		x0 = rv_fmadd(va0, va0, x0);
		y0 = rv_fmadd(vb0, vb0, y0);
		d1 = rv_fmadd(va1, vb1, d1);
		x1 = rv_fmadd(va1, va1, x1);
		y1 = rv_fmadd(vb1, vb1, y1);
	}
	if (i + W <= n)
	{
		rv_vf		va = rv_loadu(a + i);
		rv_vf		vb = RV_BODY_LOAD(b + i);

		d0 = rv_fmadd(va, vb, d0);
		x0 = rv_fmadd(va, va, x0);
		y0 = rv_fmadd(vb, vb, y0);
		i += W;
	}
	if (i < n)
	{
		rv_vf		va = rv_load_tail(a + i, n - i);
		rv_vf		vb = RV_BODY_LOAD_TAIL(b + i, n - i);

		d1 = rv_fmadd(va, vb, d1);
		x1 = rv_fmadd(va, va, x1);
		y1 = rv_fmadd(vb, vb, y1);
	}
	*dot = rv_hsum(rv_add(d0, d1));
	*aa = rv_hsum(rv_add(x0, x1));
	*bb = rv_hsum(rv_add(y0, y1));
}
