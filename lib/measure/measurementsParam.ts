import { defineViewStateParam } from '@/lib/viewState/viewStateCodec';
import { decodeMeasurements, encodeMeasurements, MeasurementList } from './Measurement';

/** The run's measurements in the view-state URL (`m=`, base64url JSON), so a copied link keeps them. */
export const measurementsParam = defineViewStateParam<MeasurementList>({
  key: 'm',
  schema: MeasurementList,
  format: encodeMeasurements,
  parse: (text) => {
    const decoded = decodeMeasurements(text);
    if (!decoded.ok) throw new Error(decoded.error);
    return decoded.value;
  },
});
